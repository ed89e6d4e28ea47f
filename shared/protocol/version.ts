// Protocol identity. The version travels in the WebSocket subprotocol, so a
// mismatched client is refused at upgrade time, before any frame is parsed.
export const PROTOCOL_VERSION = 1;
export const SUBPROTOCOL = `holdfast.v${PROTOCOL_VERSION}`;
/** Access tokens ride in a second offered subprotocol: browsers cannot set headers. */
export const BEARER_PREFIX = 'holdfast.bearer.';
export const WS_PATH = '/ws';
