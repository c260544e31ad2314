// The platform's WebRTC set-up in two real Chromium pages, for test/ice.test.ts:
//   role=user  the user's browser, given exactly what browser-service/src/lib/turn.ts hands out: one ICE server,
//              turn:<TURN_HOST>:<TURN_PORT>?transport=tcp, REST credentials;
//   role=pod   neko's side (browser-service/src/services/sandbox.ts: NEKO_WEBRTC_ICELITE=true; an ICE-lite agent
//              offers host candidates only and neko drops its ICE servers): no ICE servers at all.
// This server (run inside the "cluster" namespace) serves the page and relays the two SDPs (non-trickle: each
// page sends its description once gathering is complete) and writes each page's result to <dir>/result-<role>.json.
//   node ice.mjs <dir> <port>
import http from 'node:http';
import { writeFileSync } from 'node:fs';

const [dir, port] = process.argv.slice(2);

const PAGE = `<!doctype html><meta charset="utf-8"><title>ice</title><script>
(async () => {
  const q = new URLSearchParams(location.search);
  const role = q.get('role');
  const out = { role };
  const post = (path, body) => fetch(path, { method: 'POST', body: JSON.stringify(body) });
  const poll = async (path) => {
    for (let i = 0; i < 200; i++) {
      const r = await fetch(path);
      if (r.status === 200) return r.json();
      await new Promise((res) => setTimeout(res, 200));
    }
    throw new Error('nothing at ' + path);
  };
  const gathered = (pc) => new Promise((res) => {
    if (pc.iceGatheringState === 'complete') res();
    pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && res();
  });
  try {
    const pc = role === 'user'
      ? new RTCPeerConnection({ iceServers: [{ urls: [q.get('turn')], username: q.get('u'), credential: q.get('p') }] })
      : new RTCPeerConnection({});
    let got;
    if (role === 'pod') {
      const ch = pc.createDataChannel('media');
      ch.onopen = () => ch.send('frame-1');
      got = new Promise((res) => { ch.onmessage = (m) => res(m.data); });
      await pc.setLocalDescription(await pc.createOffer());
      await gathered(pc);
      await post('/sig/offer', pc.localDescription);
      await pc.setRemoteDescription(await poll('/sig/answer'));
    } else {
      got = new Promise((res) => {
        pc.ondatachannel = (e) => {
          e.channel.onmessage = (m) => { e.channel.send('ack-' + m.data); res(m.data); };
        };
      });
      await pc.setRemoteDescription(await poll('/sig/offer'));
      await pc.setLocalDescription(await pc.createAnswer());
      await gathered(pc);
      await post('/sig/answer', pc.localDescription);
    }
    out.message = await Promise.race([got, new Promise((r) => setTimeout(() => r(null), 30000))]);
    out.state = pc.iceConnectionState;
    out.candidates = pc.localDescription.sdp.match(/a=candidate:.*/g) || [];
    const stats = await pc.getStats();
    stats.forEach((s) => {
      if (s.type !== 'candidate-pair' || s.state !== 'succeeded') return;
      const l = stats.get(s.localCandidateId);
      out.local = {
        type: l.candidateType, address: l.address, protocol: l.protocol, relayProtocol: l.relayProtocol || null,
      };
    });
  } catch (e) {
    out.error = String(e);
  }
  await post('/result/' + role, out);
})();
</script>`;

const sig = new Map();
http
  .createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (req.method === 'POST') {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        if (path.startsWith('/sig/')) sig.set(path, body);
        else if (path === '/result/user' || path === '/result/pod')
          writeFileSync(`${dir}/result-${path.slice(8)}.json`, body);
        res.end('ok');
      });
      return;
    }
    if (path.startsWith('/sig/')) {
      if (!sig.has(path)) {
        res.writeHead(404);
        return res.end();
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(sig.get(path));
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(PAGE);
  })
  .listen(Number(port), '0.0.0.0', () => process.stdout.write('listening\n'));
