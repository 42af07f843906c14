/** Sources embedded as text (nsexec.c is compiled at run time by TinyCC). */
declare module "*.c" {
  const source: string;
  export default source;
}
