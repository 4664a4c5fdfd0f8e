package hub

import "context"

// AnswerConfirmation answers the most recent reminder that asked this
// number for a Y/N confirmation. found is false when none is waiting (the
// text is then an ordinary reply).
func (s *Service) AnswerConfirmation(ctx context.Context, practiceID, phone string, yes bool) (found bool, err error) {
	return s.answerConfirmation(ctx, practiceID, phone, yes)
}
