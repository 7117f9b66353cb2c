/**
 * The POSIX shell scripts behind the file operations that the protocol has no endpoint for
 * (read, list, remove, mkdir). Each runs as `/bin/sh -c <script> sh <args...>`: paths travel as
 * arguments, never spliced into the script. (`/bin/sh` rather than `sh`: the reference server
 * rewrites an argv whose first two items are exactly `sh` and `-c`, joining the arguments into
 * the script, which would break them.)
 */

/** Exit status of a script: the path does not exist. */
export const EXIT_NOT_FOUND = 3;
/** Exit status of a script: the path is a directory where a file is needed (or `remove` without `recursive`). */
export const EXIT_IS_DIRECTORY = 4;
/** Exit status of a script: the path is of the wrong type (not a regular file, not a directory). */
export const EXIT_WRONG_TYPE = 5;

/** The shell that runs the scripts, by absolute path (see above). */
export const SHELL = "/bin/sh";

/**
 * Reads a file: `path stagingDir inlineMax maxBytes`. Prints one header line, `<how> <size>`:
 * - `toolarge`: the file has more than `maxBytes` bytes; nothing else is done;
 * - `inline`: at most `inlineMax` bytes; its content follows in base64;
 * - `staged`: larger; `stagingDir/f` is now a hard link to it (or a copy), to be downloaded.
 */
export const READ_SCRIPT = `p=$1 s=$2 inline=$3 max=$4
if [ ! -e "$p" ]; then exit ${EXIT_NOT_FOUND}; fi
if [ -d "$p" ]; then exit ${EXIT_IS_DIRECTORY}; fi
if [ ! -f "$p" ]; then exit ${EXIT_WRONG_TYPE}; fi
size=$(wc -c < "$p") || exit 1
size=$(printf '%s' $size)
if [ "$size" -gt "$max" ]; then printf 'toolarge %s\n' "$size"; exit 0; fi
if [ "$size" -le "$inline" ]; then printf 'inline %s\n' "$size"; base64 < "$p" || exit 1; exit 0; fi
mkdir -p -- "$s" || exit 1
if [ -L "$p" ] || ! ln -- "$p" "$s/f" 2>/dev/null; then cp -- "$p" "$s/f" || exit 1; fi
printf 'staged %s\n' "$size"`;

/**
 * Stages a file for reading: `path stagingDir`. Makes `stagingDir/f` a hard link to the file
 * (no copy) or, across file systems or for a symbolic link, a copy of what it points to.
 */
export const STAGE_SCRIPT = `p=$1 s=$2
if [ ! -e "$p" ]; then exit ${EXIT_NOT_FOUND}; fi
if [ -d "$p" ]; then exit ${EXIT_IS_DIRECTORY}; fi
if [ ! -f "$p" ]; then exit ${EXIT_WRONG_TYPE}; fi
mkdir -p -- "$s" || exit 1
if [ ! -L "$p" ] && ln -- "$p" "$s/f" 2>/dev/null; then exit 0; fi
cp -- "$p" "$s/f" || exit 1`;

/** Removes a staging directory, and its parent when that is left empty: `stagingDir`. */
export const UNSTAGE_SCRIPT = `rm -rf -- "$1"; rmdir -- "\${1%/*}" 2>/dev/null; exit 0`;

/** Lists a directory as base64 of NUL-separated `rawmode size mtime`, `name` pairs: `dir`. */
export const LIST_SCRIPT = `d=$1
if [ ! -e "$d" ]; then exit ${EXIT_NOT_FOUND}; fi
if [ ! -d "$d" ]; then exit ${EXIT_WRONG_TYPE}; fi
cd -- "$d" || exit 1
for f in .[!.]* ..?* *; do
  if [ -e "$f" ] || [ -L "$f" ]; then
    m=$(stat -c '%f %s %Y' -- "$f" 2>/dev/null) || continue
    printf '%s\\0%s\\0' "$m" "$f"
  fi
done | base64`;

/** Removes a path: `path recursive(1|0)`. A missing path is success. */
export const REMOVE_SCRIPT = `p=$1
if [ ! -e "$p" ] && [ ! -L "$p" ]; then exit 0; fi
if [ "$2" = 1 ]; then rm -rf -- "$p" || exit 1
elif [ -d "$p" ] && [ ! -L "$p" ]; then exit ${EXIT_IS_DIRECTORY}
else rm -f -- "$p" || exit 1
fi`;

/** Creates a directory and its parents: `path`. */
export const MKDIR_SCRIPT = `p=$1
if [ -e "$p" ] && [ ! -d "$p" ]; then exit ${EXIT_WRONG_TYPE}; fi
mkdir -p -- "$p" || exit 1`;
