/** The part of ioredis-mock (an in-memory Redis with ioredis' API) this example uses; the package ships no types. */
declare module 'ioredis-mock' {
  interface RedisMockPipeline {
    set(key: string, value: string | number): RedisMockPipeline;
    exec(): Promise<[Error | null, unknown][] | null>;
  }
  export default class RedisMock {
    constructor(options?: Record<string, unknown>);
    get(key: string): Promise<string | null>;
    set(key: string, value: string | number): Promise<'OK'>;
    del(...keys: string[]): Promise<number>;
    multi(): RedisMockPipeline;
    quit(): Promise<'OK'>;
  }
}
