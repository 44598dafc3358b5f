import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { createKuarkClient, TRPCProvider } from "@kuark/features-client/react";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App";
import { connection } from "./connection";
import "./styles.css";

const queryClient = new QueryClient({ defaultOptions: { queries: { retry: false } } });
// getToken is asked on every request, so a token pasted later is used at once.
const kuark = createKuarkClient({ url: connection.url, getToken: () => connection.token() });

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <TRPCProvider trpcClient={kuark} queryClient={queryClient}>
        <App />
      </TRPCProvider>
    </QueryClientProvider>
  </StrictMode>,
);
