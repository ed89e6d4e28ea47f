// A test page for the graphical recording player (e2e-recording-rfb.test.ts): the player
// alone, for the session and admin token in the URL's fragment
// (#session=ID&token=TOKEN[&at=SECONDS]), reading the recording from the node that serves the page.
import { createElement } from 'react';
import { createRoot } from 'react-dom/client';
import { RfbRecordingPlayer } from '../renderer/src/components/RfbRecordingPlayer.js';

const params = new URLSearchParams(location.hash.slice(1));
const token = params.get('token');
const at = params.get('at');
createRoot(document.getElementById('root')!).render(createElement(RfbRecordingPlayer, { sessionId: params.get('session') ?? '', brokerUrl: location.origin, token: () => token, ...(at ? { at: Number(at) } : {}) }));
