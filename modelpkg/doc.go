// Package modelpkg defines the model package format and reads, extracts
// and builds packages safely.
//
// A model package is a ZIP file named model_{version}_deployment.zip
// ([ParseFileName], [FileName]) holding the files a [Layout] requires:
// by default model.joblib, metadata.json ([ParseMetadata]),
// deployment_manifest.json ([ParseManifest]), validate_model.py,
// inference_example.py, requirements.txt and README.md. The manifest maps
// every other file to its SHA-256.
//
// [Open] (or [OpenFile]) checks the archive's whole structure and
// returns a [*Package], an fs.FS over its files. [Package.Extract]
// writes the files to a [Destination] such as [DirDestination] in one
// pass, checking every digest. [Build] and [BuildDir] make packages,
// deterministically.
//
// # Errors
//
// Every rejection wraps exactly one sentinel error of type [*Error], so
// that errors.Is works and [Code] gives a stable, machine-readable code:
//
//   - [ErrInvalidName] (invalid_name): a file name or version;
//   - [ErrInvalidArchive] (invalid_archive): not a ZIP, encryption,
//     unsupported methods, local headers or data descriptors disagreeing
//     with the central directory, overlapping entries, data before,
//     between or after the entries, bad sizes (also an entry producing
//     more than it declares), CRC-32 or deflate data;
//   - [ErrUnsafePath] (unsafe_path): entry names that are not canonical
//     relative paths, too long or too deep;
//   - [ErrUnsafeEntryType] (unsafe_entry_type): symlinks, devices, FIFOs,
//     sockets;
//   - [ErrDuplicateEntry] (duplicate_entry): the same name twice, also
//     under case folding or Unicode NFC, or a name that is both a file and
//     a directory;
//   - [ErrResourceLimit] (resource_limit): a [Limits] field exceeded;
//   - [ErrMissingFile] (missing_file): a file the manifest lists, or the
//     manifest or metadata file itself, is absent;
//   - [ErrInvalidMetadata] (invalid_metadata), [ErrInvalidManifest]
//     (invalid_manifest): malformed JSON, wrong field types, unlisted
//     files;
//   - [ErrHashMismatch] (hash_mismatch): Extract returns a
//     [*HashMismatchError] listing every file whose digest differs.
//
// Messages name the offending entry. Errors from the operating system or
// a [Destination] are returned wrapped, without a sentinel.
//
// # Concurrency
//
// A [*Package] is safe for concurrent use: files can be read through its
// fs.FS methods from many goroutines, and Extract may run concurrently
// with them. Extract itself runs up to ExtractOptions.Concurrency files
// at once; for each, one goroutine decompresses (and computes the
// CRC-32), one computes SHA-256, and the destination's WriteFile consumes
// a plain io.Reader (which also implements io.WriterTo), connected by a
// ring of four 256 KiB buffers. Hashing and writing therefore overlap, and
// memory stays bounded by about Concurrency x 1 MiB whatever the package
// size. A [Destination] must be safe for concurrent use. [DirDestination]
// is.
//
// # Security and limits
//
// Open trusts nothing in the archive, and accepts a package only when
// every mainstream reader (Python's zipfile, Info-ZIP unzip, 7-Zip,
// libarchive, streaming readers) would see the same entries with the same
// bytes. It reads the central directory itself as well as through
// archive/zip and requires both to agree; it always follows a zip64
// locator and requires the 32-bit end record to agree with the zip64 one;
// it requires the central headers to fill exactly the directory's declared
// size; it reads every local header and data descriptor and requires
// name, method, flags, CRC-32 and sizes to match the central directory;
// it accepts an Info-ZIP Unicode Path extra field only when it repeats the
// entry's own name; and it requires the entries to tile the archive from
// its first byte to the central directory, which rejects prepended data
// (polyglots), unreferenced bytes or local headers between entries,
// overlapping entries (the "better zip bomb") and trailing data, and
// multi-disk archives. Entry names must be canonical: valid UTF-8 without
// control characters, relative, slash-separated, with no ".", ".." or
// empty elements, no backslash, no colon, no element ending in a dot or
// space, no Windows device name and no 8.3 short name ("MODEL~1.JOB"),
// and no two names may collide under NFC, NTFS upper-casing (the dotless
// i) or case folding, so that no two spellings reach the same file on any
// operating system. A leading "./" (bsdtar) is dropped. Only regular files
// and directories are accepted, judged by the Unix mode bits whatever host
// wrote the entry and by the MS-DOS attributes. macOS AppleDouble entries
// (__MACOSX/._*) are checked like the others, then ignored, with a
// warning in [Package.Warnings]. Backslash separators (PowerShell 5.1's
// Compress-Archive) are refused with a message saying how to re-pack:
// readers disagree on what they mean.
//
// [Limits] bound entries (10,000), per-file size (4 GiB), total size
// (16 GiB), compression ratio (200:1 beyond the first MiB of each file),
// name length and depth, and the size (1 MiB metadata, 8 MiB manifest)
// and nesting depth (64) of the JSON files. Zero fields mean the
// defaults; there is no "unlimited". Open checks the sizes the archive
// declares; every read, including Extract, checks the bytes actually
// produced against the declared size, the limits and the CRC-32, and
// stops at the first byte too many. No buffer is ever sized from a
// header. Deflate data is inflated with github.com/klauspost/compress,
// registered per reader, never globally.
//
// Text a package carries that every interface shows on one line,
// metadata.model_type (at most [MaxModelTypeLen] bytes) and
// metadata.version, must be plain text ([CheckText]: valid UTF-8 without
// control, line-break or invisible formatting characters such as
// bidirectional overrides), or the metadata is invalid. Errors quote
// names and values escaped and cut ([Excerpt]), so a hostile value never
// reaches a log or a terminal raw, nor floods one.
//
// [DirDestination] writes through os.OpenRoot, creates files exclusively
// (never overwriting), and on Abort removes exactly what it created.
// Extract hands a file's final io.EOF to the destination only after its
// digest has been verified, so a store never commits a corrupt file.
package modelpkg
