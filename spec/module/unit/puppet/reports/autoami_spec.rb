# frozen_string_literal: true

require_relative '../../spec_helper'
require 'puppet/reports'
require 'puppet/reports/autoami'

describe 'the autoami report processor' do
  def report(host)
    report = Puppet::Transaction::Report.new('1', 'production', 'u')
    report.host = host
    report.finalize_report
    report.extend(Puppet::Reports.report(:autoami))
  end

  it 'is registered as autoami' do
    expect(Puppet::Reports.report(:autoami)).not_to be_nil
  end

  it 'returns at once for a node that is not a bake instance' do
    expect(PuppetX::Autoami::Config).not_to receive(:load)
    report('puppet.example.com').process
  end

  it 'hands a bake instance’s summary over' do
    expect(PuppetX::Autoami::Report).to receive(:deliver).with(hash_including('host' => 'web-i-0123abcd.autoami', 'transaction_uuid' => 'u'))
    report('web-i-0123abcd.autoami').process
  end

  it 'logs whatever goes wrong and never raises into the master' do
    allow(PuppetX::Autoami::Report).to receive(:deliver).and_raise(NoMemoryError, 'out of memory')
    expect(Puppet).to receive(:err).with('autoami report processor: NoMemoryError: out of memory')
    expect { report('web-i-0123abcd.autoami').process }.not_to raise_error
  end
end
