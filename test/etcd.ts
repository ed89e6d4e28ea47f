// Moved to support/etcd.ts (shared by the tests and the bench). This re-export stays
// only for broker/control-plane/conformance.test.ts, which imports ../../test/etcd.js
// and is someone else's to change; delete it once that import names support/.
export * from '../support/etcd.js';
