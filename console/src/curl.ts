/** A curl line for a request, quoted for a POSIX shell. */

export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`;
}

export function curlLine(opts: { method: string; url: string; headers: Record<string, string>; body: string | null; token: boolean }): string {
  const parts = ['curl', '-sS', '-X', opts.method, shellQuote(opts.url)];
  // Double quotes: the shell fills in the token from the environment.
  if (opts.token) parts.push('-H', '"Authorization: Bearer $FP_INVOKE_TOKEN"');
  for (const [k, v] of Object.entries(opts.headers)) parts.push('-H', shellQuote(`${k}: ${v}`));
  if (opts.body !== null && opts.body !== '') parts.push('--data-binary', shellQuote(opts.body));
  return parts.join(' ');
}
