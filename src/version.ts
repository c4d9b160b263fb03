// The release this build is, for --version, the start line and /v1/mesh status.
export const VERSION = '0.1.0';
