/** C stages embedded as text (nsexec.c, nsmount.c: compiled at run time by TinyCC, see internal/sys/cstage.ts). */
declare module "*.c" {
  const source: string;
  export default source;
}
