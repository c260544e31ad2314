// TLS sessions of the hosts tls.* has shaken hands with, so that the run's later hand-written connections to the same
// host (http.<role>'s six repeats, http.upload's questions) resume them: a full handshake costs the ingress a
// signature each, and a run opens some forty. tls.* itself never resumes: it judges the handshake a client meets.
const sessions = new Map<string, Buffer>();
const key = (address: string, port: number, servername: string) => `${address}|${port}|${servername.toLowerCase()}`;

export function rememberSession(address: string, port: number, servername: string, session: Buffer): void {
  if (sessions.size > 64) sessions.clear();
  sessions.set(key(address, port, servername), session);
}

export function sessionFor(address: string, port: number, servername: string): Buffer | undefined {
  return sessions.get(key(address, port, servername));
}
