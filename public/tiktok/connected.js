// The OAuth popup's last page: tells the editor's tab how the connection went (the tab is
// cross-origin isolated, so the popup has no opener to talk to), then closes itself.
const outcome = new URLSearchParams(location.search).get('tiktok') || 'error';
const channel = new BroadcastChannel('reelsmith-tiktok');
channel.postMessage(outcome);
channel.close();
window.close();
// Not a popup (the browser kept the window open): go back to the editor, which reads ?tiktok=.
setTimeout(() => location.replace(`/?tiktok=${encodeURIComponent(outcome)}`), 500);
