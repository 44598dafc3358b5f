/**
 * REST calls over real HTTP that check every answer against the served OpenAPI document: the route and
 * method must be documented, the status must be one of that operation's responses, and the body must
 * validate against that response's schema (Ajv, JSON Schema 2020-12: the dialect of OpenAPI 3.1), or be
 * empty where the document declares no content (204).
 *
 * Why these validators: @seriousme/openapi-schema-validator (2.x, maintained, OpenAPI 2.0 to 3.2, Node 20)
 * checks the document itself; @apidevtools/swagger-parser 13 needs Node 22. Ajv is what both build on.
 */
import { Validator } from "@seriousme/openapi-schema-validator";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { expect } from "vitest";

export interface RestAnswer<T = unknown> {
  status: number;
  headers: Headers;
  /** Parsed JSON, or undefined for an empty body. */
  body: T;
  text: string;
}

export interface CallOptions {
  token?: string | undefined;
  /** Sent as JSON. */
  body?: unknown;
  /** Sent as it is, with content-type application/json (malformed JSON, say). */
  rawBody?: string;
  headers?: Record<string, string>;
}

type Operation = { responses: Record<string, { content?: Record<string, unknown> }> };
export type OpenApiDocumentJson = { openapi: string; paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, unknown> } };

const escapePointer = (segment: string) => segment.replace(/~/g, "~0").replace(/\//g, "~1");

export class DocumentedApi {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true });
  /** Every (method, path template, status) a test received, for the coverage check. */
  readonly seen = new Set<string>();

  private constructor(
    readonly baseUrl: string,
    readonly document: OpenApiDocumentJson,
  ) {
    addFormats.default(this.ajv);
    this.ajv.addSchema(document, "openapi.json");
  }

  /** Fetches the service's document and checks it with the OpenAPI validator first. */
  static async load(baseUrl: string): Promise<DocumentedApi> {
    const res = await fetch(`${baseUrl}/api/v1/openapi.json`);
    expect(res.status).toBe(200);
    const document = (await res.json()) as OpenApiDocumentJson;
    const result = await new Validator().validate(document);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    return new DocumentedApi(baseUrl, document);
  }

  /** The document's path template that `pathname` falls under ("/api/v1/features/{id}"). */
  templateOf(pathname: string): string | undefined {
    return Object.keys(this.document.paths).find((template) =>
      new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{[^}]+\}/g, "[^/]+")}$`).test(pathname),
    );
  }

  async call<T = unknown>(method: string, path: string, options: CallOptions = {}): Promise<RestAnswer<T>> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
    const payload = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
    if (payload !== undefined) headers["content-type"] ??= "application/json";
    const res = await fetch(this.baseUrl + path, { method, headers, body: payload });
    const text = await res.text();
    const body = (text === "" ? undefined : JSON.parse(text)) as T;
    this.check(method, path, res.status, text, body);
    return { status: res.status, headers: res.headers, body, text };
  }

  /** Asserts that this answer is one the document describes, with a body of the documented shape. */
  check(method: string, path: string, status: number, text: string, body: unknown): void {
    const pathname = new URL(path, this.baseUrl).pathname;
    const template = this.templateOf(pathname);
    expect(template, `${pathname} is in the document`).toBeDefined();
    const verb = method.toLowerCase();
    const operation = this.document.paths[template!]?.[verb];
    expect(operation, `${method} ${template} is in the document`).toBeDefined();
    const response = operation!.responses[String(status)];
    expect(response, `${method} ${template} documents status ${status} (body: ${text.slice(0, 300)})`).toBeDefined();
    this.seen.add(`${verb} ${template} ${status}`);
    if (!response!.content) {
      expect(text, `${method} ${template} ${status} has no body`).toBe("");
      return;
    }
    const pointer = ["paths", template!, verb, "responses", String(status), "content", "application/json", "schema"].map(escapePointer).join("/");
    const validate = this.ajv.getSchema(`openapi.json#/${pointer}`);
    expect(validate, `schema of ${method} ${template} ${status}`).toBeDefined();
    const valid = validate!(body);
    expect(validate!.errors ?? [], `${method} ${template} ${status} body ${text.slice(0, 300)} matches the document`).toEqual([]);
    expect(valid).toBe(true);
  }
}
