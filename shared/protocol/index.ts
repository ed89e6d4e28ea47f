export * from './version.js';
export * from './errors.js';
export * from './messages.js';
export * from './frames.js';
export * from './rfb.js';
export * from './admin.js';
export * from './sign-in-methods.js';
export * from './thumbnail.js';
