import { useState } from "react";
import { keepPreviousData, useQuery, useQueryClient } from "@tanstack/react-query";
import type { FeatureStatus } from "@kuark/features-client";
import { useSubscription, useTRPC } from "@kuark/features-client/react";
import { ErrorNote } from "./ErrorNote";
import { FeatureRow } from "./FeatureRow";

const PAGE_SIZE = 5;

export function FeatureList() {
  const trpc = useTRPC();
  const [search, setSearch] = useState("");
  const [status, setStatus] = useState<FeatureStatus | "">("");
  const [page, setPage] = useState(1);
  const list = useQuery({
    ...trpc.features.list.queryOptions({
      page,
      limit: PAGE_SIZE,
      search: search.trim() || undefined,
      status: status || undefined,
    }),
    placeholderData: keepPreviousData,
  });
  const pagination = list.data?.pagination;
  // Live: any change of the organization's features, from this page or anyone else's, refetches what shows it.
  // The link reconnects by itself and resumes from the last event, so nothing is missed while offline.
  const queryClient = useQueryClient();
  const live = useSubscription(
    trpc.features.onChange.subscriptionOptions(undefined, {
      onData: ({ data }) => {
        void queryClient.invalidateQueries({ queryKey: trpc.features.list.pathKey() });
        void queryClient.invalidateQueries({ queryKey: trpc.features.history.queryKey({ id: data.feature.id }) });
      },
    }),
  );

  return (
    <section className="card" aria-label="Features">
      <h2>Features</h2>
      <p className="live" role="status" aria-label="Live updates">
        Live updates: {live.status === "pending" ? "on" : live.status === "connecting" ? "connecting…" : live.status === "error" ? "off" : "…"}
      </p>
      <div className="filters">
        <label>
          Search
          <input
            type="search"
            value={search}
            onChange={(event) => {
              setSearch(event.target.value);
              setPage(1);
            }}
          />
        </label>
        <label>
          Status filter
          <select
            value={status}
            onChange={(event) => {
              setStatus(event.target.value as FeatureStatus | "");
              setPage(1);
            }}
          >
            <option value="">All</option>
            <option value="ACTIVE">Active</option>
            <option value="INACTIVE">Inactive</option>
          </select>
        </label>
      </div>
      <ErrorNote error={list.error} />
      <table>
        <thead>
          <tr>
            <th>Name</th>
            <th>Description</th>
            <th>Status</th>
            <th>Updated</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {list.data?.data.map((feature) => <FeatureRow key={feature.id} feature={feature} />)}
          {list.data?.data.length === 0 && (
            <tr>
              <td colSpan={5}>No features.</td>
            </tr>
          )}
        </tbody>
      </table>
      <nav className="pager">
        <button type="button" disabled={page <= 1} onClick={() => setPage(page - 1)}>
          Previous
        </button>
        <span>
          {pagination ? `Page ${pagination.page} of ${Math.max(pagination.totalPages, 1)} (${pagination.total} features)` : "Loading…"}
        </span>
        <button type="button" disabled={!pagination || page >= pagination.totalPages} onClick={() => setPage(page + 1)}>
          Next
        </button>
      </nav>
    </section>
  );
}
