/** The selected request lives in the URL (`/admin?request=ID`). */

/** The URL query parameter that names the selected request. */
export const REQUEST_PARAM = 'request';

/** Why `id` cannot be a request document id (Firestore's rules for ids), or null. */
export function requestIdProblem(id: string): string | null {
  if (!id) return 'Enter a request id.';
  if (id.includes('/')) return `"${id}" is not a request id: an id has no "/".`;
  if (id === '.' || id === '..' || /^__.*__$/.test(id)) return `"${id}" is not a request id.`;
  if (id.length > 1500) return 'That is too long for a request id.';
  return null;
}
