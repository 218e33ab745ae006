// An API error after a user action, in words: the problem's detail and each
// offending field. An alert region, so screen readers announce it at once.
import { type ApiProblem, sentence } from '../problem';

export function ProblemAlert({ problem, fieldLabels = {} }: { problem: ApiProblem | null; fieldLabels?: Record<string, string> }) {
  if (!problem) return null;
  return (
    <div class="alert" role="alert">
      <p>{problem.humanMessage}</p>
      {problem.extraFieldErrors.length > 0 && (
        <ul>
          {problem.extraFieldErrors.map((e) => (
            <li key={e.field}>
              {fieldLabels[e.field] ?? e.field}: {sentence(e.detail)}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
