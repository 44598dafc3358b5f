import { useState } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { useTRPC } from "@kuark/features-client/react";
import { connection } from "./connection";
import { CreateFeature } from "./CreateFeature";
import { FeatureList } from "./FeatureList";

export function App() {
  const [token, setToken] = useState(connection.token());
  const trpc = useTRPC();
  const queryClient = useQueryClient();

  function saveToken(value: string) {
    setToken(value);
    connection.setToken(value);
    // Everything cached belongs to the previous token's organization.
    void queryClient.invalidateQueries({ queryKey: trpc.pathKey() });
  }

  return (
    <main>
      <header>
        <h1>Kuark Features</h1>
        <label className="token">
          Access token
          <input
            type="password"
            value={token}
            placeholder="paste a token (npm run token)"
            onChange={(event) => saveToken(event.target.value)}
          />
        </label>
        <small>API: {connection.url}</small>
      </header>
      <CreateFeature />
      <FeatureList />
    </main>
  );
}
