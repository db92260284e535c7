import LogferryCore
import Synchronization
import Testing

struct WaiterSlotTests {
    final class Box: Sendable {
        struct State {
            var value = 0
            var slot = WaiterSlot()
        }
        let state = Mutex(State())

        func set(_ v: Int) {
            state.withLock { s in
                s.value = v
                return s.slot.take()
            }.resume()
        }
    }

    @Test func returnsAtOnceWhenTheConditionAlreadyHolds() async {
        let box = Box()
        box.set(3)
        await suspend(until: { $0.value == 3 }, in: box.state, slot: \.slot)
    }

    @Test(.timeLimit(.minutes(1))) func wakesWhenTheStateChanges() async {
        let box = Box()
        async let waited: Void = {
            while !box.state.withLock({ $0.value == 5 }) {
                await suspend(until: { $0.value == 5 }, in: box.state, slot: \.slot)
            }
        }()
        for v in 1...5 { box.set(v) }
        await waited
        #expect(box.state.withLock { $0.value } == 5)
    }

    @Test(.timeLimit(.minutes(1))) func cancellationResumesTheWaiter() async {
        let box = Box()
        let task = Task { await suspend(until: { $0.value == 99 }, in: box.state, slot: \.slot) }
        task.cancel()
        await task.value  // would hang if cancellation did not resume it
        #expect(box.state.withLock { $0.value } == 0)
    }
}
