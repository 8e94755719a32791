/** @ferry/storage: where a download's bytes go and are published, behind one interface every backend implements. */
export { Checkpoint } from './checkpoint.js';
export { LocalDiskStorage, PARTS_DIRNAME } from './local-disk.js';
export type { ConflictPolicy, OpenedStoredFile, PartWriter, PublishTarget, Storage, StoredFile, StoredFileRef, StoredPart, StoredReader } from './storage.js';
