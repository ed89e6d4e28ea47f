// Web and desktop client entry. The broker is the page's own origin in the browser;
// in the desktop shell the preload bridge names it (from policy or settings).
import { createRoot } from 'react-dom/client';
import { HoldfastClient, type SocketLike } from '../../shared/core/index.js';
import { App } from './App.js';
import { desktopBridge } from './bridge.js';
import '@xterm/xterm/css/xterm.css';
import './styles.css';

async function start(): Promise<void> {
  const bridge = desktopBridge();
  const brokerUrl = bridge ? (await bridge.getConfig()).brokerUrl : window.location.origin;
  const client = new HoldfastClient({
    brokerUrl,
    socketFactory: (url, protocols) => new WebSocket(url, protocols) as unknown as SocketLike,
  });
  createRoot(document.getElementById('root')!).render(<App client={client} />);
}

void start();
