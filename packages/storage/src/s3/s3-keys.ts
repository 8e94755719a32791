import { namespaceDirectory } from '../namespace-directory.js';

/** Beside the namespaces' folders; no namespace folder starts with a dot, so none is named like it. */
const PARTS_FOLDER = '.parts/';
/** The key an upload is completed under before it is copied to its final key. */
const STAGED_SUFFIX = '.upload';

/**
 * Where things live in the bucket: `<prefix><namespace folder>/<name>` for
 * published files (the folder named as local disk names its directory), and
 * `<prefix>.parts/<part>` for parts in progress.
 */
export class S3Keys {
  constructor(
    readonly bucket: string,
    readonly prefix: string,
  ) {}

  get partsPrefix(): string {
    return `${this.prefix}${PARTS_FOLDER}`;
  }

  namespacePrefix(namespace: string): string {
    return `${this.prefix}${namespaceDirectory(namespace)}/`;
  }

  // Names are sanitized before they get here; this keeps a future bug there from writing outside the namespace.
  fileKey(namespace: string, filename: string): string {
    if (filename.length === 0 || filename.includes('/')) throw new Error(`refusing to publish outside the namespace's folder: ${filename}`);
    return `${this.namespacePrefix(namespace)}${filename}`;
  }

  markerKey(part: string): string {
    return `${this.partsPrefix}${part}`;
  }

  stagedKey(uploadName: string): string {
    return `${this.partsPrefix}${uploadName}${STAGED_SUFFIX}`;
  }

  location(key: string): string {
    return `s3://${this.bucket}/${key}`;
  }

  /** The key a location names in this bucket, or undefined when it names none here. */
  keyOf(location: string): string | undefined {
    const start = `s3://${this.bucket}/`;
    return location.startsWith(start) && location.length > start.length ? location.slice(start.length) : undefined;
  }

  /** A CopySource names its key URL-encoded, each segment apart. */
  copySource(key: string): string {
    return `${this.bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
  }
}
