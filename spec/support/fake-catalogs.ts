/** A Puppet Server catalog API for the bake-core specs: each compile answers what the test scripted. */
import type { CatalogCompiler, CompileRequest, CompileResult } from '../../runtime/puppet/catalog.ts';

export class FakeCatalogs implements CatalogCompiler {
  readonly calls: { readonly server: string; readonly request: CompileRequest }[] = [];
  /** What the next compiles answer: a catalog, or (null) a failure with `failure` as its reason. */
  catalog: unknown = null;
  failure = 'POST https://puppet.example.com:8140/puppet/v4/catalog answered 500: no catalog was scripted';

  async compile(server: string, request: CompileRequest): Promise<CompileResult> {
    this.calls.push({ server, request });
    return this.catalog === null ? { state: 'not_compiled', reason: this.failure } : { state: 'compiled', catalog: this.catalog, ms: 42 };
  }
}

/** A catalog as Puppet Server returns it: `resources` maps each `Type[title]` to its parameters. */
export function catalogOf(certname: string, resources: Readonly<Record<string, Readonly<Record<string, unknown>>>>, version: string | number = Date.now()): unknown {
  return {
    name: certname, version, catalog_uuid: crypto.randomUUID(), code_id: null, environment: 'production',
    resources: Object.entries(resources).map(([ref, parameters]) => {
      const open = ref.indexOf('[');
      return { type: ref.slice(0, open), title: ref.slice(open + 1, -1), exported: false, file: '/site.pp', line: 1, tags: [], parameters };
    }),
    edges: Object.keys(resources).map((ref) => ({ source: 'Class[main]', target: ref })),
  };
}
