import type { Ec2 } from './types.ts';

/** One EC2 interface per region, made on first use: a bake talks to its group's region. */
export interface Ec2Source {
  get(region: string): Ec2;
}
