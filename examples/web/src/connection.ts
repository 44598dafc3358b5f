/**
 * Where the API is and which token to send: `?api=` and `?token=` in the address, else VITE_KUARK_URL and
 * VITE_KUARK_TOKEN at build time, else the local service. A token typed into the page is kept in localStorage.
 */
const params = new URLSearchParams(window.location.search);
const TOKEN_KEY = "kuark.token";

const initialToken = params.get("token") ?? import.meta.env.VITE_KUARK_TOKEN ?? localStorage.getItem(TOKEN_KEY) ?? "";
if (initialToken) localStorage.setItem(TOKEN_KEY, initialToken);

export const connection = {
  url: params.get("api") ?? import.meta.env.VITE_KUARK_URL ?? "http://localhost:3000/trpc",
  token: (): string => localStorage.getItem(TOKEN_KEY) ?? "",
  setToken(token: string): void {
    localStorage.setItem(TOKEN_KEY, token.trim());
  },
};
