/** Whether a platform bound to `host` listens on this machine only (127.x, ::1 or localhost: the default). */
export function isLoopback(host: string): boolean {
  return /^127\./.test(host) || host === '::1' || host === '[::1]' || host === 'localhost';
}
