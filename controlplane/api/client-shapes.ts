/**
 * The clients' declarations of the API's answers (protocol/api-runs.ts, protocol/api-usage.ts: what
 * the CLI and the console read them with) are the outputs of the answer schemas here, field for
 * field: a field added, dropped or retyped on one side fails this file's compile. Types only.
 */
import type { z } from 'zod';
import type {
  ApiAsyncRun,
  ApiAsyncRunSummary,
  ApiColdStartRow,
  ApiColdStarts,
  ApiLogs,
  ApiRun,
  ApiRunError,
  ApiRunLogLine,
  ApiRunSummary,
  ApiUsage,
  ApiUsagePoint,
  ApiUsageSeries,
} from '../../protocol/index.js';
import type { asyncRunSummaryView, asyncRunView, logLine, logsAnswer, runError, runSummaryView, runView, usageAnswer } from './answers.js';
import type { coldStartFunction, coldStartsAnswer, usagePoint, usageSeriesAnswer } from './answers-console.js';

type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
type Agree<_ extends true> = never;

export type ClientShapesAgree = [
  Agree<Same<z.output<typeof runError>, ApiRunError>>,
  Agree<Same<z.output<typeof logLine>, ApiRunLogLine>>,
  Agree<Same<z.output<typeof runSummaryView>, ApiRunSummary>>,
  Agree<Same<z.output<typeof runView>, ApiRun>>,
  Agree<Same<z.output<typeof logsAnswer>, ApiLogs>>,
  Agree<Same<z.output<typeof asyncRunSummaryView>, ApiAsyncRunSummary>>,
  Agree<Same<z.output<typeof asyncRunView>, ApiAsyncRun>>,
  Agree<Same<z.output<typeof usageAnswer>, ApiUsage>>,
  Agree<Same<z.output<typeof usagePoint>, ApiUsagePoint>>,
  Agree<Same<z.output<typeof usageSeriesAnswer>, ApiUsageSeries>>,
  Agree<Same<z.output<typeof coldStartFunction>, ApiColdStartRow>>,
  Agree<Same<z.output<typeof coldStartsAnswer>, ApiColdStarts>>,
];
