// `explain` for a code that two places give: CHECK_ERROR is the runner's (a check that reached no verdict in a run)
// and the browser page's (its own script failed in one part). A CLI user must read the run's meaning first.
import { describe, expect, it } from 'vitest';
import { explain } from '../../src/commands/explain.js';

describe('explain CHECK_ERROR', () => {
  it('says what it means in a run and its fix, then what it means on the browser-check page', async () => {
    const text = await explain('check_error');
    expect(text).toMatch(/^CHECK_ERROR \(fail\) — from any check of a run\n\nWhy: The check itself could not reach/);
    expect(text).toMatch(/\nFix:\n {2}Run it again on its own \(--only <id> -v\)/);
    expect(text).toMatch(/\n\nOn the browser-check page \(any row\): The page's own script failed/);
    expect(text).toMatch(/\nFix there:\n {2}Ask the user to open the page again in a private window/);
  });
});
