/** Plain words for the errno codes a user meets with a path they gave; any other code as it is. */
const PROBLEMS: Record<string, string> = {
  ENOENT: 'no such file or folder',
  ENOTDIR: 'a part of the path is not a folder',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'it is a folder',
  EROFS: 'the file system is read-only',
  ENOSPC: 'no space left on the device',
  ELOOP: 'too many symbolic links',
  ENAMETOOLONG: 'the name is too long',
}

/** What went wrong with a file operation, in words (a raw `ENOENT` means little to a user). */
export function fileProblem(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code
  if (code === undefined) return err instanceof Error ? err.message : 'error'
  return PROBLEMS[code] ?? code
}
