// jstat ships no type declarations; these are the parts Vigil uses.
declare module "jstat" {
  interface StudentT {
    /** P(T <= x) for Student's t with `dof` degrees of freedom */
    cdf(x: number, dof: number): number;
    /** the x with P(T <= x) = p */
    inv(p: number, dof: number): number;
  }
  export const jStat: {
    studentt: StudentT;
    /** regularised incomplete beta function I_x(a, b), for 0 <= x <= 1 */
    ibeta(x: number, a: number, b: number): number;
  };
}
