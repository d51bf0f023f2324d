/** The shared protocol: wire frames, runtime messages and error codes. The only module every service imports. */
export * from './frames.js';
export * from './invoke-frame.js';
export * from './messages.js';
export * from './errors.js';
export * from './units.js';
export * from './manifest.js';
export * from './cron-schedule.js';
export * from './records.js';
export * from './live-logs.js';
export * from './json-text.js';
export * from './file-names.js';
export * from './ports.js';
export * from './metric-labels.js';
export * from './redis-keys.js';
export * from './code-checks.js';
export * from './function-key.js';
export * from './roles.js';
