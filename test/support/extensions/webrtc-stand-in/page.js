// What a content blocker's "nowebrtc" scriptlet (uBlock Origin, AdGuard) does to a page before its own scripts run:
// RTCPeerConnection becomes a stand-in that constructs without a word and has only a few methods, which do
// nothing; the rest of the API (setLocalDescription, …) is not there. A page that uses it fails in its own script.
(() => {
  const nothing = () => {};
  function StandIn() {}
  StandIn.prototype = {
    close: nothing,
    createDataChannel: nothing,
    createOffer: nothing,
    setRemoteDescription: nothing,
  };
  window.RTCPeerConnection = StandIn.bind(window);
})();
