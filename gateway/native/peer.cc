// The peer of a uWebSockets.js response: its address and port with one getpeername(2) on the
// response's socket (gateway/peer-port.ts; docs/adr/0093-peer-port.md). The pinned uWebSockets.js
// build gives the address only (res.getRemoteAddress), so request.client's port was always 0.
//
// peer(res, out) -> 4 or 16 (the address's length, in out[0..]) with the port in out[16..18]
// (network order); a negative number when it cannot tell (not a response object, not a socket,
// not TCP). The response object's internal field 0 is the binding's HttpResponse, which is the
// socket (uSockets' us_socket_t); on the binding's libuv backend the socket begins with its
// us_poll_t: { uv_poll_t *uv_p; int fd; unsigned char poll_type; }, so the descriptor is the int
// after the first pointer. That layout is the build's: the gateway uses this only after a
// self-check against a connection whose port it knows (gateway/peer-port.ts).
//
// cookie(res) -> the response socket's SO_COOKIE (Linux 4.12+: a number the kernel gives each socket
// once, never to another while it runs), as a Number; 0 when it cannot tell. A connection is known
// by it where its peer's address and port are not enough: another connection from the same address
// and port, once this one closed, has another cookie (gateway/body-drain.ts, ClosedPeers; red team
// round 35).
//
// capListeners(port, bytes) -> how many of this process's listening sockets on `port` got
// SO_SNDBUF = bytes (the kernel doubles it and stops autotuning it); -1 on bad arguments. The
// connections they accept inherit it (the kernel clones the listener's socket), so what one
// connection may queue in the host's TCP memory for a client that does not read is bounded at no
// cost per request (docs/adr/0147-what-round-17-left-open.md).
#include <dirent.h>
#include <node.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

using namespace v8;

static void Peer(const FunctionCallbackInfo<Value> &args) {
  args.GetReturnValue().Set(-1);
  if (args.Length() < 2 || !args[0]->IsObject() || !args[1]->IsUint8Array()) return;
  Local<Object> res = args[0].As<Object>();
  Local<Uint8Array> out = args[1].As<Uint8Array>();
  if (res->InternalFieldCount() < 1 || out->ByteLength() < 18) return;
  const unsigned char *socket = static_cast<const unsigned char *>(res->GetAlignedPointerFromInternalField(0));
  if (socket == nullptr) return;
  int fd;
  memcpy(&fd, socket + sizeof(void *), sizeof fd);
  struct sockaddr_storage address;
  socklen_t length = sizeof address;
  if (fd < 0 || getpeername(fd, reinterpret_cast<struct sockaddr *>(&address), &length) != 0) {
    args.GetReturnValue().Set(-2);
    return;
  }
  unsigned char *bytes = static_cast<unsigned char *>(out->Buffer()->Data()) + out->ByteOffset();
  if (address.ss_family == AF_INET) {
    const struct sockaddr_in *in = reinterpret_cast<const struct sockaddr_in *>(&address);
    memcpy(bytes, &in->sin_addr, 4);
    memcpy(bytes + 16, &in->sin_port, 2);
    args.GetReturnValue().Set(4);
  } else if (address.ss_family == AF_INET6) {
    const struct sockaddr_in6 *in6 = reinterpret_cast<const struct sockaddr_in6 *>(&address);
    memcpy(bytes, &in6->sin6_addr, 16);
    memcpy(bytes + 16, &in6->sin6_port, 2);
    args.GetReturnValue().Set(16);
  } else {
    args.GetReturnValue().Set(-3);
  }
}

#ifndef SO_COOKIE
#define SO_COOKIE 57
#endif

static void Cookie(const FunctionCallbackInfo<Value> &args) {
  args.GetReturnValue().Set(0);
  if (args.Length() < 1 || !args[0]->IsObject()) return;
  Local<Object> res = args[0].As<Object>();
  if (res->InternalFieldCount() < 1) return;
  const unsigned char *socket = static_cast<const unsigned char *>(res->GetAlignedPointerFromInternalField(0));
  if (socket == nullptr) return;
  int fd;
  memcpy(&fd, socket + sizeof(void *), sizeof fd);
  unsigned long long cookie = 0;
  socklen_t size = sizeof cookie;
  if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_COOKIE, &cookie, &size) != 0) return;
  args.GetReturnValue().Set(static_cast<double>(cookie));
}

static void CapListeners(const FunctionCallbackInfo<Value> &args) {
  args.GetReturnValue().Set(-1);
  if (args.Length() < 2 || !args[0]->IsInt32() || !args[1]->IsInt32()) return;
  int port = args[0].As<Int32>()->Value();
  int bytes = args[1].As<Int32>()->Value();
  if (port <= 0 || port > 65535 || bytes <= 0) return;
  DIR *dir = opendir("/proc/self/fd");
  if (dir == nullptr) return;
  int count = 0;
  struct dirent *entry;
  while ((entry = readdir(dir)) != nullptr) {
    char *end;
    long fd = strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0' || fd == dirfd(dir)) continue;
    int listening = 0;
    socklen_t size = sizeof listening;
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &size) != 0 || listening == 0) continue;
    struct sockaddr_storage address;
    socklen_t length = sizeof address;
    if (getsockname(fd, reinterpret_cast<struct sockaddr *>(&address), &length) != 0) continue;
    int bound = -1;
    if (address.ss_family == AF_INET) bound = ntohs(reinterpret_cast<struct sockaddr_in *>(&address)->sin_port);
    else if (address.ss_family == AF_INET6) bound = ntohs(reinterpret_cast<struct sockaddr_in6 *>(&address)->sin6_port);
    if (bound != port) continue;
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes) == 0) count++;
  }
  closedir(dir);
  args.GetReturnValue().Set(count);
}

static void Init(Local<Object> exports, Local<Value>, void *) {
  NODE_SET_METHOD(exports, "peer", Peer);
  NODE_SET_METHOD(exports, "capListeners", CapListeners);
  NODE_SET_METHOD(exports, "cookie", Cookie);
}

NODE_MODULE(NODE_GYP_MODULE_NAME, Init)
