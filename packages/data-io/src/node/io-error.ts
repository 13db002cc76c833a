import { RarefyIoError } from '@rarefy/sampling-core';

/** A short reason from a Node file-system error, and a fix for its code. */
function describeOsError(error: unknown): { reason: string; code: string | undefined; fix: string } {
  const code =
    typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string'
      ? error.code
      : undefined;
  const message = error instanceof Error ? error.message : String(error);
  // Node writes "ENOENT: no such file or directory, open '/x'": keep the part before the syscall.
  const reason = message.replace(/, \w+ '.*'$/, '');
  const fix =
    code === 'ENOENT'
      ? 'check the path (a relative path is resolved from the current directory) and that its folder exists'
      : code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
        ? 'check the permissions of the file and its folder, or choose another path'
        : code === 'EISDIR'
          ? 'pass the path of a file, not of a folder'
          : code === 'ENOSPC'
            ? 'free some disk space or write elsewhere'
            : 'check that the path is right and the disk is reachable';
  return { reason, code, fix };
}

/**
 * Wraps a file-system error as RAREFY_IO_ERROR naming the path, the reason and a fix.
 *
 * @param path - the file
 * @param action - what was being done
 * @param error - the error Node raised
 * @returns the typed error
 * @example
 * ```ts
 * throw ioError('data.csv', 'read', error);
 * ```
 * @internal
 */
export function ioError(path: string, action: 'read' | 'write', error: unknown): RarefyIoError {
  const { reason, code, fix } = describeOsError(error);
  return new RarefyIoError('RAREFY_IO_ERROR', `${path}: cannot ${action} the file (${reason})`, fix, {
    input: path,
    osCode: code,
  });
}
