// Secrets never reach output: credentials inside URLs are masked wherever a URL is shown.

export function redactUrl(value: string): string {
  try {
    const u = new URL(value);
    if (u.username || u.password) {
      u.username = u.username ? '***' : '';
      u.password = u.password ? '***' : '';
    }
    return u.toString().replace(/\/$/, value.endsWith('/') ? '/' : '');
  } catch {
    // Not a URL (e.g. "proxy:3128"): still hide anything that looks like user:pass@.
    return value.replace(/^[^@/]*@/, '***@');
  }
}
