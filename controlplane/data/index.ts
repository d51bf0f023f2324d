/** The data binding (docs/data-binding.md, ADR 0021): the proxy, its credentials, its run ledger, the names. */
export { DataProxy, DEFAULT_FERRETDB_MAX_FIELDS, DEFAULT_MAX_MESSAGE_BYTES, type BackendAddress, type DataProxyOptions } from './proxy.js';
export { DataCredentials, type Credential, type Grant } from './credentials.js';
export { WriteLedger, RUN_TAG_PREFIX, runIdOfComment, type CollectionWrites } from './writes.js';
export { bindingUri, physicalDatabase } from './names.js';
export { DataBindings, BOX_DATA_DIR, type BoundFunction, type DataBindingsOptions } from './service.js';
