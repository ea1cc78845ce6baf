// Which web pages the operations listener answers: none. A page an operator opens (while a
// `kubectl port-forward` puts the listener on localhost, say) can send it a POST without asking
// first (a form, or fetch with `mode: 'no-cors'` and a text/plain body): the page never reads the
// answer, but the reload or the explained decision has run, with the page's Host already the
// listener's own address. Browsers name the page that sent a request in `Origin` (every POST) and
// in `Sec-Fetch-Site` (every request, `none` when the operator typed the address); probes,
// scrapers and operators' command-line clients send neither.

/** Whether a request was sent by a web page (an `Origin` of any value, or `Sec-Fetch-Site` other than `none`). */
export function sentByWebPage(origin: string | undefined, fetchSite: string | undefined): boolean {
  return origin !== undefined || (fetchSite !== undefined && fetchSite.trim().toLowerCase() !== 'none');
}
