/// <reference types="vite/client" />
interface ImportMetaEnv {
  readonly VITE_KUARK_URL?: string;
  readonly VITE_KUARK_TOKEN?: string;
}
