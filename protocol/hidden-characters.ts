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
/** A name with neither (as a whole-string pattern, for schemas: it reaches the OpenAPI document). */
export const SHOWN_AS_IT_IS = /^[^\p{Cc}\p{Cf}\p{Zl}\p{Zp}]*$/u;
