export interface PackageManifest {
  name: string;
  version: string;
  private?: boolean;
  exports?: Record<string, unknown>;
  [field: string]: unknown;
}

export interface PackageEntry {
  /** The `exports` key, such as `.` or `./internal`. */
  subpath: string;
  /** `./src/<name>.ts` */
  source: string;
  /** `<name>`: the output's path under dist/, without extension. */
  name: string;
  import: string;
  importTypes: string;
  require: string;
  requireTypes: string;
}

export declare function outputsOf(source: string): Omit<PackageEntry, 'subpath' | 'source'>;
export declare function entriesOf(pkg: PackageManifest): PackageEntry[];
export declare function publishedManifest(pkg: PackageManifest): PackageManifest;
