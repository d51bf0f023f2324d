// The peer of a uWebSockets.js response: its address and port with one getpeername(2) on the
// response's socket (gateway/peer-port.ts; docs/adr/0093-peer-port.md). The pinned uWebSockets.js
// build gives the address only (res.getRemoteAddress), so request.client's port was always 0.
//
// peer(res, out) -> 4 or 16 (the address's length, in out[0..]) with the port in out[16..18]
// (network order); a negative number when it cannot tell (not a response object, not a socket,
// not TCP). With a third argument n > 0 it also sets the socket's SO_SNDBUF to n (the kernel
// doubles it and stops autotuning it): what one connection may queue in the host's TCP memory
// for a client that does not read (docs/adr/0147-what-round-17-left-open.md). The response object's internal field 0 is the binding's HttpResponse, which is the
// socket (uSockets' us_socket_t); on the binding's libuv backend the socket begins with its
// us_poll_t: { uv_poll_t *uv_p; int fd; unsigned char poll_type; }, so the descriptor is the int
// after the first pointer. That layout is the build's: the gateway uses this only after a
// self-check against a connection whose port it knows (gateway/peer-port.ts).
#include <node.h>
#include <netinet/in.h>
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
  if (args.Length() >= 3 && args[2]->IsInt32()) {
    int bytes = args[2].As<Int32>()->Value();
    if (bytes > 0) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
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

static void Init(Local<Object> exports, Local<Value>, void *) {
  NODE_SET_METHOD(exports, "peer", Peer);
}

NODE_MODULE(NODE_GYP_MODULE_NAME, Init)
