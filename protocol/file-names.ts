/**
 * The names a bundle may hold, one segment (the text between two `/`) at a time: the control
 * plane refuses the others (controlplane/bundles/paths.ts, BUNDLE_PATH_INVALID) and the CLI warns
 * about them before uploading (cli/files.ts). What a name shows is what it is: nothing invisible,
 * reordered or ambiguous reaches logs, terminals, shells or the code directory.
 */
import { CONTROL_CHARACTER as CONTROL, INVISIBLE_CHARACTER as INVISIBLE } from './hidden-characters.js';

/** Longest segment, in UTF-8 bytes (the usual file-system limit). */
export const MAX_SEGMENT_BYTES = 255;

// Unpaired UTF-16 surrogates (from `\udc80` escapes in JSON): not Unicode text, no file system stores them as given.
const LONE_SURROGATE = /\p{Cs}/u;
const EDGE_SPACE = /^\s|\s$/u;

/**
 * Why `segment` may not be a name in a bundle, or null. `first`: the path's first segment, where
 * `~name` would be read as a home folder by a shell (`~root/x.py`).
 */
export function nameProblem(segment: string, first: boolean): string | null {
  if (LONE_SURROGATE.test(segment)) return 'contains an unpaired surrogate (not valid Unicode)';
  if (CONTROL.test(segment)) return 'contains a control character';
  if (INVISIBLE.test(segment)) return 'contains an invisible format character (e.g. a bidi override or zero-width character)';
  if (segment.includes('\\')) return 'contains a backslash; separate folders with /';
  if (EDGE_SPACE.test(segment)) return 'has a name that starts or ends with a space';
  if (first && segment.startsWith('~')) return 'starts with ~, which a shell reads as a home folder';
  if (Buffer.byteLength(segment) > MAX_SEGMENT_BYTES) return `has a name longer than ${MAX_SEGMENT_BYTES} bytes`;
  return null;
}
