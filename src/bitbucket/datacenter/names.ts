/**
 * Names on Bitbucket Data Center (SPEC §6a): the first half of a repo is a
 * project key (`PLAT`, any case: letters, digits, `_`) or a personal
 * project (`~alice`); slugs are as on Cloud.
 */

/** A project key as the manifest may write it: letters, digits and `_`, any case. */
export const PROJECT_KEY = /^[A-Za-z0-9_]+$/;
/** A personal project: `~` and a user slug (lower-case, like every slug). */
export const PERSONAL_PROJECT = /^~[a-z0-9][a-z0-9._-]*$/;
/** Repository slugs, as on Cloud. */
export const DC_SLUG = /^[a-z0-9][a-z0-9._-]*$/;

/** Whether `value` can be the project part of a Data Center repo (`PLAT`, `plat`, `~alice`). */
export function isProjectKey(value: string): boolean {
  return value.length <= 128 && (PROJECT_KEY.test(value) || PERSONAL_PROJECT.test(value));
}

export function isPersonalProject(value: string): boolean {
  return PERSONAL_PROJECT.test(value);
}

/** Why a project key is invalid, for `modules.<name>.repo: …` messages; undefined when it is valid. */
export function projectKeyProblem(value: string): string | undefined {
  if (isProjectKey(value)) return undefined;
  if (value.startsWith('~')) return `invalid personal project "${value}": must be ~ and a user slug matching ^[a-z0-9][a-z0-9._-]*$`;
  return `invalid project key "${value}": letters, digits and _ only (or ~user for a personal project)`;
}

export interface DcRepoName {
  /** The project key as written (case kept), or `~user`. */
  key: string;
  slug: string;
}

/** `KEY/slug` or `~user/slug` → its parts; undefined when either part is invalid. */
export function parseDcRepo(repo: string): DcRepoName | undefined {
  const parts = repo.split('/');
  if (parts.length !== 2) return undefined;
  const [key, slug] = parts as [string, string];
  return isProjectKey(key) && DC_SLUG.test(slug) ? { key, slug } : undefined;
}
