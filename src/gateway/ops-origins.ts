// Which requests from web pages the operations listener refuses: all but reads. A page an operator
// opens (while a `kubectl port-forward` puts the listener on localhost, say) can send it a POST
// without asking first (a form, or fetch with `mode: 'no-cors'` and a text/plain body): the page
// never reads the answer, but the reload or the explained decision has run, with the page's Host
// already the listener's own address. Browsers name the page that sent a request in `Origin`
// (every POST) and in `Sec-Fetch-Site` (every request, `none` when the operator typed the
// address); probes, scrapers and operators' command-line clients send neither.
//
// A GET or HEAD runs nothing here, and no answer carries CORS headers, so a page cannot read what
// it fetched: refusing reads would only break an operator following a link to /metrics from the
// Prometheus targets page or a dashboard, or opening /readyz through the API server's proxy.

/** Methods that only read on this listener. */
const READS: ReadonlySet<string> = new Set(['GET', 'HEAD']);

/** Whether a web page sent a request (an `Origin` of any value, or `Sec-Fetch-Site` other than `none`). */
function sentByWebPage(origin: string | undefined, fetchSite: string | undefined): boolean {
  return origin !== undefined || (fetchSite !== undefined && fetchSite.trim().toLowerCase() !== 'none');
}

/** Whether the operations listener refuses a request: one that a web page sent, unless it only reads. */
export function refusedFromWebPage(method: string, origin: string | undefined, fetchSite: string | undefined): boolean {
  return !READS.has(method) && sentByWebPage(origin, fetchSite);
}
