/**
 * The characters a name people read (a bundle's file names, protocol/file-names.ts; a token's
 * label, controlplane/api/tenancy-schemas.ts) may not hold, in one place: what a name shows is
 * what it is. Control characters (C0, DEL, C1: newlines and terminal escapes break logs and
 * terminals), and every invisible format character (Unicode category Cf: bidi marks, overrides and
 * isolates, `x\u202egnp.py` shows as `xpng.py`; the Arabic letter mark U+061C, which reorders as the
 * right-to-left mark does; zero-width joiners and spaces, the BOM, soft hyphens, interlinear
 * annotations, …) with the Unicode line and paragraph separators. A category, not a list: a list
 * missed U+061C (dx round 4, docs/adr/0189-names-refuse-every-format-character.md).
 */

/** Control characters: C0, DEL and C1. */
export const CONTROL_CHARACTER = /\p{Cc}/u;
/** Invisible format characters (every Cf) and the line and paragraph separators. */
export const INVISIBLE_CHARACTER = /[\p{Cf}\p{Zl}\p{Zp}]/u;
/** A name with neither, as a whole-string pattern (the check itself: `isShownAsItIs`). */
export const SHOWN_AS_IT_IS = /^[^\p{Cc}\p{Cf}\p{Zl}\p{Zp}]*$/u;
/**
 * The same rule over the Basic Multilingual Plane, spelled out for the OpenAPI document: tools that
 * read its patterns with other regex engines (Schemathesis, Python's `re`) have no `\p{…}` and could
 * not generate a label at all. test/unit/hidden-characters.test.ts checks it against SHOWN_AS_IT_IS
 * for every BMP code point; the few format characters beyond it (U+110BD, U+E0001, tags…) are
 * refused by `isShownAsItIs`, which schemas apply as well.
 */
export const SHOWN_AS_IT_IS_BMP = /^[^\x00-\x1f\x7f-\x9f\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]*$/;

/** True when `name` holds no control, format, line or paragraph separator character. */
export function isShownAsItIs(name: string): boolean {
  return SHOWN_AS_IT_IS.test(name);
}
