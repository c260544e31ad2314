// What the "disable WebRTC" extensions (WebRTC Control and its kind) do to every page before its own scripts run:
// the WebRTC constructors become undefined. Chromium has no switch or policy that removes WebRTC (its policies only
// narrow which addresses and ports it uses), so this is how a Chromium-based browser ends up without it; the page
// then sees what Firefox with media.peerconnection.enabled=false shows, no RTCPeerConnection at all.
for (const name of ['RTCPeerConnection', 'webkitRTCPeerConnection', 'RTCSessionDescription', 'MediaStreamTrack']) {
  window[name] = undefined;
}
