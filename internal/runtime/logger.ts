/** The logging surface internal/runtime needs; cmd/sysbox-runc passes a consola instance. */
export interface Logger {
  level: number;
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}
