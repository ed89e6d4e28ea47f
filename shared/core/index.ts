export * from './brokers.js';
export * from './client.js';
export * from './connection.js';
export * from './session-stream.js';
export * from './socket.js';
export * from './resumable-upload.js';
export type { MicrophoneSource } from './microphone-link.js';
