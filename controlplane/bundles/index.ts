/** Bundles: checking uploads (in a worker pool), storing them as blobs, diffing and materializing versions. */
export { checkBundle, planBundle, bundleLimits, DEFAULT_BUNDLE_LIMITS } from './check.js';
export type { BundleLimits, BundleInput, BundleFileInput, CheckedBundle, CheckedFile, PlannedFile } from './check.js';
export { BundleError, isBundleError, BUNDLE_ERROR_CODES } from './errors.js';
export type { BundleErrorCode, BundleProblem } from './errors.js';
export { normalizeBundlePath, checkPathSet } from './paths.js';
export { diffFiles } from '../../protocol/index.js';
export { saveBundle } from './save.js';
export { materialize, type MaterializeOptions, type MaterializeResult } from './materialize.js';
export { BundlePool, type BundlePoolOptions, type CheckedUpload } from './pool.js';
