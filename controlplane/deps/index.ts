/**
 * Per-function dependencies (issue 10, docs/dependencies.md, docs/adr/0013-function-dependencies.md): keyed builds in a
 * sandboxed builder, content-addressed read-only sites. The control plane's services use this door.
 */
export { DependencyBuilds } from './service.js';
export { checkRequirementsTxt, depsFilesOf, DEPS_FILES } from './requirements.js';
export { BUILD_PHASES, BUILD_TASKS, DEPS_STATES, type BuildPhase, type DepsOptions, type DepsState, type DepsStatus } from './types.js';
